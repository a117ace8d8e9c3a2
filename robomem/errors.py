"""Exception types. Every bad-input error is a ``ValueError`` subclass, so callers can catch
``ValueError`` generically or the specific class when they care which input was wrong."""


class RobomemError(Exception):
    """Base class of every error robomem raises on purpose."""


class InvalidInputError(RobomemError, ValueError):
    """An argument has the wrong shape, dtype, range or content. Nothing was changed."""


class InvalidPoseError(InvalidInputError):
    """A pose is not a finite rigid transform (4x4, orthonormal rotation, det +1, last row 0 0 0 1)."""


class InvalidImageError(InvalidInputError):
    """An image (depth, RGB, instance ids) has the wrong shape or dtype."""


class InvalidIntrinsicsError(InvalidInputError):
    """Camera intrinsics are not positive/finite or do not match the image size."""


class InvalidMapError(InvalidInputError):
    """A map file or map parameter is invalid (bad resolution, unreadable or corrupt file)."""
