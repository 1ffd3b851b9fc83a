from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SEGYIO = REPO.parent / "shared" / "data" / "segyio"


@pytest.fixture
def segyio_dir() -> Path:
    """The real SEG-Y files of ../shared/data/segyio (skipped where absent)."""
    if not SHARED_SEGYIO.is_dir():
        pytest.skip(f"shared SEG-Y test data not found at {SHARED_SEGYIO}")
    return SHARED_SEGYIO


@pytest.fixture(scope="session")
def tiny_survey():
    from napari_forgetting.data.synthetic import make_f3_like

    return make_f3_like((8, 16, 32), seed=3)


@pytest.fixture
def notifications():
    """Messages of the napari notifications shown during a test."""
    from napari.utils.notifications import notification_manager

    seen = []

    def record(notification):
        seen.append(str(notification.message))

    notification_manager.notification_ready.connect(record)
    yield seen
    notification_manager.notification_ready.disconnect(record)
