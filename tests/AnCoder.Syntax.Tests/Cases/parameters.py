def pos_only(a, b, /):
    pass


def mixed(a, b=1, /, c=2, *, d, e=3, **f):
    pass


def kw_only(*, a, b=2):
    pass


def star_args(*args, **kwargs):
    pass


def defaults(a=1, b=(2, 3), c=[], d={}, e=lambda: 0):
    pass


def pos_only_defaults(a=1, /, b=2):
    pass


def trailing_commas(a, b, /, c, *, d,):
    pass


def trailing_comma_kwargs(
    a,
    **kwargs,
):
    pass


def single_star_then_kwargs(*, a, **k): pass
def only_posonly(a, /): pass
def empty(): pass
