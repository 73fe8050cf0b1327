"""The files that ship in the archive's ``code/``: the DLC imports ``inference.py``, which imports the
modules beside it (a graph variant's runtime is installed beside them by ``make package-model``, not
listed here). Standard library only: packaging and the code-archive Lambda read it too."""

MODULES = ("inference.py", "backends.py", "passes.py", "options.py", "settings.py", "identity.py", "files.py")
