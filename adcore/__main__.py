import sys

from adcore.cli import main

sys.exit(main())
