import os
import os.path
import a.b.c as d
import x, y.z as w, v
from os import path
from os import path as p, sep
from os.path import (join, split as sp,)
from . import sibling
from .. import parent
from ... import grandparent
from .module import name
from ..package.module import name as alias
from .... import deep
from .......x import y
from . import (a, b)
from __future__ import annotations
from mod import *
