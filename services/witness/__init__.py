"""A transparency-log witness for Gerbang's audit log (see README.md)."""
