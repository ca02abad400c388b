class Empty:
    pass


class WithBases(A, B):
    x = 1


class WithKeywords(Base, metaclass=ABCMeta, extra=1):
    """Docstring."""

    def method(self):
        return super().method()


class Star(*bases, **kwds):
    pass


class Parens():
    pass


class Nested:
    class Inner:
        class Innermost:
            pass


class Generic(Base[T], Protocol[T]):
    attr: T
