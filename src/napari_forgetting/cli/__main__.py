"""``python -m napari_forgetting.cli``: the ``napari-forgetting`` command."""

import sys

from napari_forgetting.cli import main

sys.exit(main())
