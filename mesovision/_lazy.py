"""Lazy attributes of the ``mesovision`` package (PEP 562), so that ``import mesovision`` is fast.

The package's public names (:data:`PUBLIC`) map to the module that defines them; the module is
imported the first time the name is used, and the object is then kept in the package's
namespace. Another submodule is imported on first use too (``mesovision.api`` after ``import
mesovision`` alone). Nothing here imports NumPy, OpenCV, MediaPipe, SciPy, pandas or Matplotlib.

Three API functions share their names with submodules: ``mesovision.compare``,
``mesovision.align`` and ``mesovision.metrics`` are both the modules (``import
mesovision.metrics as M`` still gives the module, with all its names) and the functions of
:mod:`mesovision.api` (``mesovision.compare(before, after)``). Python sets a submodule as an
attribute of its package when it is first imported, so a plain function in the package would be
replaced by the module; instead :class:`Package` (the package's module type) makes each of these
three modules callable (:class:`CallableModule`) as it is attached, and a call runs the API
function of the same name. ``help(mesovision.api.compare)`` shows the function's own page.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import types
from typing import Any

__all__ = [
    "CALLABLE_MODULES",
    "PUBLIC",
    "CallableModule",
    "ImportOnUse",
    "Package",
    "lazy_attribute",
]

#: Public name -> module (relative to the package) that defines it.
PUBLIC: dict[str, str] = {
    # functions
    "load_photo": "api",
    "compare": "api",
    "align": "api",
    "metrics": "api",
    "as_photo": "api",
    "sample_pair": "api",
    "load_result": "saved",
    "ImageLike": "api",
    # results and records
    "Photo": "types",
    "CaptureInfo": "types",
    "Landmarks": "types",
    "HeadPose": "types",
    "Alignment": "types",
    "MetricInfo": "types",
    "AlignedPair": "aligned_pair",
    "Comparison": "compare",
    "ScoredPhoto": "scored_photo",
    "SavedComparison": "saved",
    "Change": "noise_records",
    "NoiseTerms": "noise_records",
    "Verdict": "comparability_records",
    "Mismatch": "comparability_records",
    # the errors users catch
    "MesovisionError": "errors",
    "UsageError": "errors",
    "InputFileError": "errors",
    "InvalidImage": "errors",
    "NoFace": "errors",
    "CaptureError": "errors",
    "AlignmentError": "errors",
    "LightingError": "errors",
    "OutputExists": "errors",
    "OutputError": "errors",
    "IdentityMismatch": "errors",
}

#: Submodules that are also API functions: ``module name -> function name in mesovision.api``.
CALLABLE_MODULES: dict[str, str] = {
    "mesovision.compare": "compare",
    "mesovision.align": "align",
    "mesovision.metrics": "metrics",
}


class CallableModule(types.ModuleType):
    # A submodule that also runs the mesovision.api function of the same name. Its __doc__ (what
    # help(), IPython's `?` and inspect.getdoc show) is the function's page first, then the
    # module's own docstring: a user who calls mv.compare reads how to call it.

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _api_function(self.__name__)(*args, **kwargs)

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(_api_function(self.__name__))

    @property  # type: ignore[override]
    def __doc__(self) -> str:
        fn = _api_function(self.__name__)
        call = f"{fn.__name__}{inspect.signature(fn)}"
        own = inspect.cleandoc(self.__dict__.get("__doc__") or "")
        heading = f"The module {self.__name__}"
        return (
            f"{call}\n\n{inspect.cleandoc(fn.__doc__ or '')}\n\n{heading}\n{'-' * len(heading)}"
            f"\n\n{own}"
        )


def _api_function(module_name: str):
    api = importlib.import_module("mesovision.api")
    return getattr(api, CALLABLE_MODULES[module_name])


class Package(types.ModuleType):
    """The type of the ``mesovision`` package: makes :data:`CALLABLE_MODULES` callable as the
    import system attaches them."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and value.__name__ in CALLABLE_MODULES
            and type(value) is types.ModuleType
        ):
            value.__class__ = CallableModule
        super().__setattr__(name, value)


def lazy_attribute(package: types.ModuleType, name: str) -> Any:
    """The public attribute ``name`` of ``package``, importing its module on first use."""
    module = PUBLIC.get(name)
    if module is None:
        return _submodule(package, name)
    full = f"{package.__name__}.{name}"
    if full in CALLABLE_MODULES:
        # The submodule, made callable as the import attaches it to the package.
        return importlib.import_module(full)
    value = getattr(importlib.import_module(f"{package.__name__}.{module}"), name)
    setattr(package, name, value)
    return value


def _submodule(package: types.ModuleType, name: str) -> types.ModuleType:
    """The submodule ``name`` of ``package``, imported on first use (``mesovision.api``,
    ``mesovision.io``: as ``numpy.linalg``, reachable after ``import mesovision`` alone)."""
    full = f"{package.__name__}.{name}"
    if name.isidentifier() and not name.startswith("__") and importlib.util.find_spec(full):
        return importlib.import_module(full)
    raise AttributeError(f"module {package.__name__!r} has no attribute {name!r}")


class ImportOnUse:
    """The module ``name``, imported on first attribute access: a module that names a heavy
    library only in annotations (``pd.DataFrame``) binds it to one of these at run time, so that
    :func:`typing.get_type_hints` (and beartype, Sphinx autodoc) resolve the annotation while
    importing the module does not import the library (type checkers see the real import)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self.name), attr)

    def __repr__(self) -> str:
        return f"<module {self.name!r}, imported on first use>"
