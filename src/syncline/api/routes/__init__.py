"""One module per resource; each exposes ``router``, registered in :mod:`syncline.api.app`."""
