"""Where the benchmarks find the hymenoptera images: MLTK_HYMENOPTERA_DIR when set, otherwise
../shared/datasets/hymenoptera_data beside the repository root (the tests look in the same places)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hymenoptera_dir():
    return os.environ.get("MLTK_HYMENOPTERA_DIR") or os.path.normpath(
        os.path.join(ROOT, "..", "shared", "datasets", "hymenoptera_data"))
