"""python3 -m nettwin ...: the nettwin command line."""
import sys

from .cli import main

sys.exit(main())
