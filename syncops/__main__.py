import sys

from syncops.cli import main

sys.exit(main())
