"""mesovision: measured, comparable evidence from before/after treatment photos.

Array convention (used by every module): images are ``float32`` RGB in ``[0, 1]``, sRGB-encoded,
shaped ``(row, col, channel)``; masks are ``bool`` ``(row, col)``; points are pixel ``(x, y)`` in
the frame of the image they were measured on (the working copy unless a name says ``original``).
"""

__version__ = "0.2.0"
