"""pygal, without the import hook it installs.

pygal appends a legacy finder to sys.meta_path for its map plugins, which this app does not
use. On Python 3.11 every import that fails anywhere in the process afterwards (optional
dependencies probing for numpy, Windows modules...) then warns "find_spec() not found",
which the test suite turns into errors. The hook is removed as soon as pygal is imported;
import pygal from here.
"""

import sys

import pygal
from pygal.style import Style

sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != "pygal"]

__all__ = ["Style", "pygal"]
