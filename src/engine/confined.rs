//! File-system operations confined beneath one directory: no component may be a symlink,
//! no path may leave the root. Used by every write the restore makes.
