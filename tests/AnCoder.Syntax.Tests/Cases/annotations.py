from typing import Callable, Optional

x: int
y: int = 1
z: "forward" = None
(paren): int = 2
obj.attr: str = "a"
obj[0]: float
items: list[dict[str, tuple[int, ...]]] = []
cb: Callable[[int, str], Optional[bool]]
u: int | None = None


def f(a: int, b: str = "x", *args: float, c: bool = True, d, **kwargs: object) -> dict[str, int]:
    v: int = 0
    return {}


def g(self) -> None: ...


async def h(x: "T") -> "list[T]": ...


class K:
    attr: int
    other: ClassVar[int] = 3

    def m(self, *, key: str) -> K: ...
