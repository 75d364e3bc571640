import sys

from ssdwizard.cli import main

sys.exit(main())
