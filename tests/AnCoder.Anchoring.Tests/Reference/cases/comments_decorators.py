#!/usr/bin/env python3
# leading comment
@decorator
@pkg.deco(arg=1)  # trailing
class C(Base, metaclass=M):
    """Docstring with names def class if."""

    @property
    def value(self) -> int:  # comment
        # inner
        return self._value

    async def run(self):
        async with lock as l:
            await thing()
        async for i in gen():
            yield i
