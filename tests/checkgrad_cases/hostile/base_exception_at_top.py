"""Raises a bare BaseException subclass while loading."""


class Stop(BaseException):
    pass


raise Stop("not an Exception")
