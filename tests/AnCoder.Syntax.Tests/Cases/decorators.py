import functools


@functools.lru_cache(maxsize=None)
def cached(x):
    return x


@property
@staticmethod
def stacked():
    pass


@(lambda f: f)
def any_expression_decorator():
    ...


@buttons[0].clicked.connect
def subscripted_decorator():
    pass


@a.b.c
@d(e, *f, g=1, **h)
class Decorated(Base, metaclass=Meta):
    @classmethod
    async def method(cls):
        pass

    @x := y
    def walrus_decorator(self): pass
