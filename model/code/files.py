"""The files that ship in the archive's ``code/``: the DLC imports ``inference.py``, which imports the
modules beside it; pip installs ``requirements.txt`` (written by ``make package-model`` for a graph
variant's runtime wheels). Standard library only: packaging and the code-archive Lambda read it too."""

MODULES = ("inference.py", "backends.py", "passes.py", "options.py", "settings.py", "identity.py", "files.py")
CODE_FILES = (*MODULES, "requirements.txt")
