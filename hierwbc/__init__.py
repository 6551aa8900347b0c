"""hierwbc: hierarchical supervision in DINOv2 training for white-blood-cell images.

The flow (see ARCHITECTURE): hierarchy -> datasets (manifests) -> train -> embed (AnnData)
-> evaluate (tables) -> plotting (figures); notebooks/ drive all of it.
"""

__version__ = "0.1.0"
