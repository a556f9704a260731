// Package fusefs mounts a geomds namespace as a FUSE file system
// (hanwen/go-fuse/v2, package fs) over a client.Client.
//
// # Operations
//
// Every operation is one client call on inodes (Lookup, GetAttr, MkdirAt,
// RenameAt, ...), or none when the mount knows the answer (see Caches),
// made with the credentials of the calling process: its uid
// and gid from the request header and its supplementary groups from
// /proc/PID/status. The namespace checks permissions; the mount does not ask
// the kernel to (no default_permissions), so per-caller credentials are the
// whole story. Errors cross into the kernel by one table (errno.go).
// Requests run to completion even when the kernel interrupts them: a
// mutation cut short might still commit, and reporting EINTR for it would
// make a retried mkdir fail with EEXIST. Each call is bounded by the
// client's RequestTimeout instead.
//
// # File contents
//
// Open and create return handles over client.File: writes are buffered and
// cut into chunks; FLUSH (every close(2)) and FSYNC commit the new layout,
// so close-to-open consistency holds between mounts. A SETATTR other than
// a truncate commits the unsynced writes first, so a futimens or chmod on
// an open file is not undone by the commit at close. RELEASE returns at
// once: the handle is released by the client's background workers
// (client.File.CloseReleaseLater). All handles of one inode in a mount
// share one content (client.File.Dup), so they see each
// other's unsynced writes and GETATTR reports the size they write, as one
// kernel's page cache would. Every open drops the kernel's cached data (no
// FOPEN_KEEP_CACHE) and attributes of the file, so it sees what another
// mount committed before.
//
// # Caches and locks
//
// Attributes and dentries are cached by the kernel for AttrTimeout and
// EntryTimeout (1 s by default); failed lookups are not cached, so a name
// created at another mount is visible at once. The mount keeps, per inode
// and for AttrTimeout as well, the attributes it last received (ACCESS is
// answered from them) and whether the inode is known to have no
// security.capability (the kernel reads it before every write, truncate
// and chown; created here, or a read said so): open forgets both. The
// namespace clears setuid/setgid on write, truncate and chown
// (FUSE_HANDLE_KILLPRIV), so the kernel sends no GETATTR before a chown to
// work that out itself. Locks (fcntl, flock, OFD) are kept by the kernel:
// they are consistent among the processes of one machine using the mount,
// not across mounts.
//
// # Limits
//
// O_TMPFILE is a create and an unlink (two commands): the file is briefly
// visible under a hidden name. Directories list no "." and "..". See
// docs/POSIX.md for the posixtest results.
package fusefs
