"""The exceptions of the data package: data that cannot be found, files that are not what they claim, bad downloads."""

from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """No copy of a dataset anywhere cnnkit looks, and no download that worked; the message says where and how."""


class DatasetFormatError(ValueError):
    """A dataset file exists but is malformed (wrong magic number, truncated, trailing bytes, bad labels...)."""


class DownloadError(OSError):
    """A download failed; nothing is left behind at the destination."""


class ChecksumError(DownloadError):
    """A downloaded file's MD5 differs from the published one; the file is deleted, not kept."""
