"""`python -m cnnlib RECIPE`: see cnnlib.cli."""
import sys

from .cli import main

sys.exit(main())
