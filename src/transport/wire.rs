//! One connection between a client and the service: a `SOCK_SEQPACKET` Unix socket, one
//! message per packet (so message boundaries and the fds attached to each survive), the
//! message as JSON and its fds beside it by `SCM_RIGHTS`. A message too large for one packet
//! travels in a sealed-off memfd sent as its last fd.

use std::cell::RefCell;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Larger messages go through a memfd (a socket's send buffer bounds one packet).
const INLINE_MAX: usize = 60 * 1024;
/// The kernel's limit of fds in one SCM_RIGHTS message (SCM_MAX_FD).
pub const MAX_FDS: usize = 250;

thread_local! {
    /// The fds of the message being serialised on this thread, in order of appearance.
    static OUTGOING: RefCell<Vec<RawFd>> = const { RefCell::new(Vec::new()) };
    /// The fds of the message being deserialised on this thread.
    static INCOMING: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
}

/// An fd inside a protocol message: in the JSON it is its index among the message's fds.
#[derive(Debug)]
pub struct WireFd(pub OwnedFd);

impl WireFd {
    pub fn into_inner(self) -> OwnedFd {
        self.0
    }
}

impl Serialize for WireFd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let index = OUTGOING.with(|o| {
            let mut o = o.borrow_mut();
            o.push(self.0.as_raw_fd());
            o.len() - 1
        });
        s.serialize_u64(index as u64)
    }
}

impl<'de> Deserialize<'de> for WireFd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let index = u64::deserialize(d)? as usize;
        INCOMING
            .with(|i| i.borrow_mut().get_mut(index).and_then(Option::take))
            .map(WireFd)
            .ok_or_else(|| serde::de::Error::custom(format!("fd #{index} is missing from the message")))
    }
}

/// A connection. `close` lets go of the socket while others may still hold the `Conn`: a
/// send after it fails instead of reaching whatever file reused the number.
pub struct Conn {
    fd: std::sync::RwLock<Option<OwnedFd>>,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}

fn socket() -> io::Result<OwnedFd> {
    Ok(socket::socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)?)
}

/// Runs `f` with an address for `path`. A socket path is limited to 107 bytes: a longer one
/// is reached through its directory, opened, as `/proc/self/fd/<dir>/<name>`.
fn with_addr<T>(path: &Path, f: impl FnOnce(&UnixAddr) -> io::Result<T>) -> io::Result<T> {
    use std::os::unix::ffi::OsStrExt;
    if path.as_os_str().as_bytes().len() < 100 {
        return f(&UnixAddr::new(path)?);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return f(&UnixAddr::new(path)?) };
    let dir = std::fs::File::open(dir)?;
    let short = Path::new("/proc/self/fd").join(dir.as_raw_fd().to_string()).join(name);
    f(&UnixAddr::new(&short)?)
}

impl Conn {
    /// A connected pair, for the in-process transport.
    pub fn pair() -> io::Result<(Conn, Conn)> {
        let (a, b) = socket::socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
        Ok((Conn::from(a), Conn::from(b)))
    }

    pub fn connect(path: &Path) -> io::Result<Conn> {
        let fd = socket()?;
        with_addr(path, |addr| loop {
            match socket::connect(fd.as_raw_fd(), addr) {
                Err(Errno::EINTR) => continue,
                other => return other.map_err(io::Error::from),
            }
        })?;
        Ok(Conn::from(fd))
    }

    fn with_fd<T>(&self, f: impl FnOnce(RawFd) -> io::Result<T>) -> io::Result<T> {
        let fd = self.fd.read().unwrap_or_else(|p| p.into_inner());
        match fd.as_ref() {
            Some(fd) => f(fd.as_raw_fd()),
            None => Err(closed()),
        }
    }

    /// Closes the socket now (the other side sees the end).
    pub fn close(&self) {
        self.fd.write().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Sends one message with its fds; the message keeps owning them (the kernel dups them).
    pub fn send<T: Serialize>(&self, msg: &T) -> io::Result<()> {
        OUTGOING.with(|o| o.borrow_mut().clear());
        let json = serde_json::to_vec(msg).map_err(io::Error::other);
        let mut fds = OUTGOING.with(|o| std::mem::take(&mut *o.borrow_mut()));
        let json = json?;
        let mut packet = Vec::with_capacity(json.len().min(INLINE_MAX) + 1);
        let spill;
        if json.len() <= INLINE_MAX {
            packet.push(b'J');
            packet.extend_from_slice(&json);
        } else {
            let mem = nix::sys::memfd::memfd_create(c"backup-message", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)?;
            let mut file = std::fs::File::from(mem);
            file.write_all(&json)?;
            file.rewind()?;
            spill = file;
            fds.push(spill.as_raw_fd());
            packet.push(b'M');
        }
        if fds.len() > MAX_FDS {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{} fds in one message (at most {MAX_FDS})", fds.len())));
        }
        let iov = [IoSlice::new(&packet)];
        let cmsgs: Vec<ControlMessage> = if fds.is_empty() { vec![] } else { vec![ControlMessage::ScmRights(&fds)] };
        self.with_fd(|sock| loop {
            match socket::sendmsg::<UnixAddr>(sock, &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => return Ok(()),
            }
        })
    }

    /// The next message; `None` when the other side has gone.
    pub fn recv<T: DeserializeOwned>(&self) -> io::Result<Option<T>> {
        let mut buf = vec![0u8; INLINE_MAX + 2];
        let mut cmsg = nix::cmsg_space!([RawFd; MAX_FDS + 1]);
        let guard = self.fd.read().unwrap_or_else(|p| p.into_inner());
        let Some(sock) = guard.as_ref().map(|f| f.as_raw_fd()) else { return Ok(None) };
        let (len, mut fds, truncated) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match socket::recvmsg::<UnixAddr>(sock, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC) {
                Err(Errno::EINTR) => continue,
                // The peer reset (it died): the same as its end.
                Err(Errno::ECONNRESET) => return Ok(None),
                Err(e) => return Err(e.into()),
                Ok(r) => {
                    let mut fds = Vec::new();
                    for c in r.cmsgs()? {
                        if let ControlMessageOwned::ScmRights(raw) = c {
                            // SAFETY: the kernel just installed these fds for us.
                            fds.extend(raw.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
                        }
                    }
                    let truncated = r.flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
                    break (r.bytes, fds, truncated);
                }
            }
        };
        drop(guard);
        if len == 0 {
            return Ok(None);
        }
        if truncated {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "a protocol message was truncated"));
        }
        let json = match buf[0] {
            b'J' => buf[1..len].to_vec(),
            b'M' => {
                let mem = fds.pop().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a spilled message without its memfd"))?;
                let mut text = Vec::new();
                std::fs::File::from(mem).read_to_end(&mut text)?;
                text
            }
            t => return Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown message tag {t}"))),
        };
        INCOMING.with(|i| *i.borrow_mut() = fds.into_iter().map(Some).collect());
        let parsed = serde_json::from_slice(&json).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
        // Fds the message did not claim are closed here.
        INCOMING.with(|i| i.borrow_mut().clear());
        parsed.map(Some)
    }

    /// Ends the connection both ways; a thread blocked in `recv` on either side wakes to its end.
    pub fn shutdown(&self) {
        let _ = self.with_fd(|sock| Ok(socket::shutdown(sock, socket::Shutdown::Both)));
    }
}

impl From<OwnedFd> for Conn {
    fn from(fd: OwnedFd) -> Conn {
        Conn { fd: std::sync::RwLock::new(Some(fd)) }
    }
}

/// The listening socket of a service process.
pub struct Listener {
    fd: OwnedFd,
}

impl Listener {
    pub fn bind(path: &Path) -> io::Result<Listener> {
        let fd = socket()?;
        with_addr(path, |addr| Ok(socket::bind(fd.as_raw_fd(), addr)?))?;
        socket::listen(&fd, socket::Backlog::new(64).map_err(io::Error::from)?)?;
        Ok(Listener { fd })
    }

    pub fn accept(&self) -> io::Result<Conn> {
        loop {
            match socket::accept4(self.fd.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
                Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
                Err(e) => return Err(e.into()),
                // SAFETY: accept4 returned a new fd that nothing else owns.
                Ok(fd) => return Ok(Conn::from(unsafe { OwnedFd::from_raw_fd(fd) })),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug)]
    struct Msg {
        text: String,
        fds: Vec<WireFd>,
    }

    #[test]
    fn a_message_arrives_whole_with_its_fds_even_when_it_is_large() {
        let (a, b) = Conn::pair().unwrap();
        let mut file = tempfile_with(b"hello");
        file.rewind().unwrap();
        for size in [10, 200_000] {
            let msg = Msg { text: "x".repeat(size), fds: vec![WireFd(file.try_clone().unwrap().into())] };
            a.send(&msg).unwrap();
            let got: Msg = b.recv().unwrap().unwrap();
            assert_eq!(got.text.len(), size);
            let mut text = String::new();
            let mut f = std::fs::File::from(got.fds.into_iter().next().unwrap().into_inner());
            f.rewind().unwrap();
            f.read_to_string(&mut text).unwrap();
            assert_eq!(text, "hello");
        }
        drop(a);
        assert!(b.recv::<Msg>().unwrap().is_none());
    }

    #[test]
    fn a_socket_deeper_than_the_address_limit_is_reached_through_its_directory() {
        let base = std::env::temp_dir().join(format!("wire-{}", std::process::id()));
        let dir = base.join("d".repeat(60)).join("e".repeat(60));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("service.sock");
        let listener = Listener::bind(&path).unwrap();
        let client = Conn::connect(&path).unwrap();
        let server = listener.accept().unwrap();
        client.send(&"hello").unwrap();
        assert_eq!(server.recv::<String>().unwrap().as_deref(), Some("hello"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    fn tempfile_with(bytes: &[u8]) -> std::fs::File {
        let mem = nix::sys::memfd::memfd_create(c"test", nix::sys::memfd::MFdFlags::empty()).unwrap();
        let mut f = std::fs::File::from(mem);
        f.write_all(bytes).unwrap();
        f
    }
}
