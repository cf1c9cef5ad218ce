"""Datasets, loaders and contamination protocols."""
from adcore.data.dataset import Dataset, DataError
from adcore.data.images import (load_digits_images, load_idx, load_image_zip, load_mnist, load_npz_images,
                                set_normal_classes)
from adcore.data.loaders import (SKLEARN_SETS, UPLOAD_TYPES, load, load_csv, load_mat, load_npz, load_sklearn,
                                 load_upload, upload_kind)
from adcore.data.protocols import PROTOCOLS, Split, make_split
from adcore.data.toy import LOE_PRESET, Component, Mixture, make_toy

__all__ = ["Dataset", "DataError", "load", "load_csv", "load_mat", "load_npz", "load_sklearn", "SKLEARN_SETS",
           "make_split", "Split", "PROTOCOLS", "make_toy", "Mixture", "Component", "LOE_PRESET",
           "load_upload", "upload_kind", "UPLOAD_TYPES", "load_image_zip", "load_idx", "load_mnist", "load_npz_images", "load_digits_images", "set_normal_classes"]
