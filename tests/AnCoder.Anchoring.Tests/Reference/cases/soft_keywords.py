match command.split():
    case [action, _]:
        print(action, _)
    case {"key": value, **rest}:
        pass
    case Point(x=0) | None:
        pass
type = 1
_ = match = case = 2
