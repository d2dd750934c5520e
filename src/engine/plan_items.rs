//! What a restore plans to put in place, compactly: a restore of a million files holds one
//! entry per file for its whole length, so every destination path lives in one shared
//! buffer and an entry is 24 bytes (no allocation of its own).

use nix::sys::time::TimeSpec;

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A staged file: staging holds it at its destination (less the restore directory's
    /// prefix for `fullBackupOnly`).
    File,
    /// A directory: its mode and mtime, `dirs[i]`.
    Dir(u32),
    /// A big file written by the client into `.backup/restore/<name>`, `bigs[i]`.
    Big(u32),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    start: usize,
    len: u32,
    kind: Kind,
}

#[derive(Debug)]
struct Big {
    name: String,
    mode: u32,
    atime: TimeSpec,
    mtime: TimeSpec,
}

/// One planned item, borrowed from [`Items`].
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    File { dest: &'a str },
    Dir { dest: &'a str, mode: u32, mtime: TimeSpec },
    Big { name: &'a str, dest: &'a str, mode: u32, atime: TimeSpec, mtime: TimeSpec },
}

impl<'a> Item<'a> {
    pub fn dest(&self) -> &'a str {
        match *self {
            Item::File { dest } | Item::Dir { dest, .. } | Item::Big { dest, .. } => dest,
        }
    }

    pub fn is_dir(&self) -> bool {
        matches!(self, Item::Dir { .. })
    }
}

#[derive(Debug, Default)]
pub struct Items {
    paths: String,
    entries: Vec<Entry>,
    dirs: Vec<(u32, TimeSpec)>,
    bigs: Vec<Big>,
}

impl Items {
    fn push(&mut self, dest: &str, kind: Kind) -> usize {
        let start = self.paths.len();
        self.paths.push_str(dest);
        // Paths are shorter than PATH_MAX (clean_rel), so their length fits.
        self.entries.push(Entry { start, len: dest.len() as u32, kind });
        self.entries.len() - 1
    }

    pub fn push_file(&mut self, dest: &str) -> usize {
        self.push(dest, Kind::File)
    }

    pub fn push_dir(&mut self, dest: &str, mode: u32, mtime: TimeSpec) -> usize {
        self.dirs.push((mode, mtime));
        self.push(dest, Kind::Dir(self.dirs.len() as u32 - 1))
    }

    pub fn push_big(&mut self, dest: &str, name: &str, mode: u32, atime: TimeSpec, mtime: TimeSpec) -> usize {
        self.bigs.push(Big { name: name.to_string(), mode, atime, mtime });
        self.push(dest, Kind::Big(self.bigs.len() as u32 - 1))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn has_big(&self) -> bool {
        !self.bigs.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Item<'_>> {
        let e = self.entries.get(i)?;
        let dest = &self.paths[e.start..e.start + e.len as usize];
        Some(match e.kind {
            Kind::File => Item::File { dest },
            Kind::Dir(d) => {
                let (mode, mtime) = self.dirs[d as usize];
                Item::Dir { dest, mode, mtime }
            }
            Kind::Big(b) => {
                let b = &self.bigs[b as usize];
                Item::Big { name: &b.name, dest, mode: b.mode, atime: b.atime, mtime: b.mtime }
            }
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Item<'_>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The same items with `prefix` in front of every destination.
    pub fn with_prefix(self, prefix: &str) -> Items {
        let mut paths = String::with_capacity(self.paths.len() + prefix.len() * self.entries.len());
        let mut entries = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let start = paths.len();
            paths.push_str(prefix);
            paths.push_str(&self.paths[e.start..e.start + e.len as usize]);
            entries.push(Entry { start, len: (paths.len() - start) as u32, kind: e.kind });
        }
        Items { paths, entries, dirs: self.dirs, bigs: self.bigs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_paths_and_metadata() {
        let t = TimeSpec::new(5, 6);
        let mut items = Items::default();
        items.push_dir("data/storage/d", 0o750, t);
        items.push_file("data/storage/d/f");
        items.push_big("data/storage/big", "b.bin", 0o600, t, t);
        let items = items.with_prefix("p/");
        let got: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
        assert_eq!(items.len(), 3);
        assert!(got[0].contains("\"p/data/storage/d\"") && got[0].contains("mode: 488"), "{}", got[0]);
        assert_eq!(items.get(1).unwrap().dest(), "p/data/storage/d/f");
        assert!(matches!(items.get(2), Some(Item::Big { name: "b.bin", dest: "p/data/storage/big", mode: 0o600, .. })));
        assert!(items.get(0).unwrap().is_dir() && items.has_big());
    }
}
