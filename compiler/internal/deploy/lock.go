package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// One writer at a time per deploy tree. A Lock is an exclusive flock(2) on
// DIR/.fleetc/lock (git-ignored), or, while DIR does not exist yet, on
// .DIR.fleetc-lock beside it; a write that creates DIR takes the lock
// inside the new tree before renaming it into place and then drops the
// one beside it, so both kinds of holder exclude each other. The lock file
// holds its holder (pid, host, command, since when) for the message a
// second writer gets. The kernel releases a flock when its process dies,
// however it dies: a lock is never left held by a dead process. A holder
// still written in the file when the lock is taken is one that died
// holding it (a clean release empties the file); Lock.Stale reports it.

// LockOptions tune Lock.
type LockOptions struct {
	// Wait is how long to wait for another holder to release the lock;
	// 0 fails at once with a *LockedError.
	Wait time.Duration
	// Command names what holds the lock, for the message another writer
	// gets (e.g. "fleetc compile"); default: the program's name. It is
	// written into the lock file: never pass arguments that may hold a
	// secret.
	Command string
}

// Holder is who holds (or held) a lock, as its lock file records it.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (h *Holder) String() string {
	if h == nil {
		return "an unknown process"
	}
	return fmt.Sprintf("%s (pid %d on %s) since %s", h.Command, h.PID, h.Host, h.Since.UTC().Format(time.RFC3339))
}

// LockedError is a deploy tree another process is writing.
type LockedError struct {
	Dir    string
	File   string  // the lock file
	Holder *Holder // nil when the file names nobody (the holder is starting)
	Waited time.Duration
}

func (e *LockedError) Error() string {
	waited := ""
	if e.Waited > 0 {
		waited = fmt.Sprintf(" (waited %s)", e.Waited)
	}
	return fmt.Sprintf("%s is being written by %s%s: two writes into one deploy tree would mix their files; wait for it to finish and retry (compile --lock-wait waits), or write into another --out (lock file %s)",
		e.Dir, e.Holder, waited, e.File)
}

// Lock is an exclusive hold on a deploy tree. Taking it settles the tree
// first (see Recover): its holder sees the old tree or the new one.
type Lock struct {
	dir    string   // absolute
	inside *os.File // DIR/.fleetc/lock; nil while DIR does not exist
	beside *os.File // .DIR.fleetc-lock while DIR does not exist
	holder Holder
	// Stale is the holder a previous lock file still named: a process that
	// died holding the lock. Nil if none.
	Stale *Holder
	// Recovered says what settling the tree did ("" if nothing): it
	// finished or undid a write that a crash interrupted.
	Recovered string
}

// besideLockPath is the lock file for a dir that does not exist yet.
func besideLockPath(abs string) string {
	parent, base := filepath.Split(abs)
	return filepath.Join(parent, "."+base+".fleetc-lock")
}

// TakeLock locks the deploy tree dir for writing (dir need not exist),
// then finishes or undoes any interrupted write in it.
func TakeLock(dir string, opts LockOptions) (*Lock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	h, _ := os.Hostname()
	cmd := opts.Command
	if cmd == "" {
		cmd = filepath.Base(os.Args[0])
	}
	l := &Lock{dir: abs, holder: Holder{PID: os.Getpid(), Host: h, Command: cmd, Since: time.Now().UTC().Truncate(time.Second)}}
	start := time.Now()
	for {
		err := l.try()
		var locked *LockedError
		if !errors.As(err, &locked) {
			if err != nil {
				return nil, err
			}
			break
		}
		if time.Since(start) >= opts.Wait {
			if opts.Wait > 0 {
				locked.Waited = time.Since(start).Round(time.Millisecond)
			}
			return nil, locked
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := l.settle(); err != nil {
		l.Unlock()
		return nil, err
	}
	return l, nil
}

// try takes the lock once: inside the tree if it exists, else beside it
// (and then checks the tree did not appear meanwhile).
func (l *Lock) try() error {
	for {
		exists, err := isDir(l.dir)
		if err != nil {
			return err
		}
		if exists {
			if err := checkDirs(l.dir, lockPath); err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(l.dir, ".fleetc"), 0o755); err != nil {
				return err
			}
			f, stale, err := lockFile(filepath.Join(l.dir, filepath.FromSlash(lockPath)), l.holder)
			if err != nil {
				return l.locked(err, filepath.Join(l.dir, filepath.FromSlash(lockPath)))
			}
			l.inside, l.Stale = f, stale
			return nil
		}
		parent := filepath.Dir(l.dir)
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		name := besideLockPath(l.dir)
		f, stale, err := lockFile(name, l.holder)
		if err != nil {
			return l.locked(err, name)
		}
		if exists, err := isDir(l.dir); err != nil || exists {
			unlockFile(f, false)
			if err != nil {
				return err
			}
			continue // created meanwhile: its lock is inside it
		}
		l.beside, l.Stale = f, stale
		return nil
	}
}

func (l *Lock) locked(err error, file string) error {
	if !errors.Is(err, errWouldBlock) {
		return fmt.Errorf("lock %s: %w", file, err)
	}
	return &LockedError{Dir: l.dir, File: file, Holder: readHolder(file)}
}

// settle cleans up after a crashed write: leftovers beside the tree, and
// an interrupted journal inside it.
func (l *Lock) settle() error {
	parent, base := filepath.Split(l.dir)
	if err := recoverStale(parent, base, l.dir); err != nil {
		return fmt.Errorf("recover previous write: %w", err)
	}
	if l.inside == nil {
		if exists, _ := isDir(l.dir); exists {
			// recoverStale put a previous tree back: lock it too.
			f, _, err := lockFile(filepath.Join(l.dir, filepath.FromSlash(lockPath)), l.holder)
			if err != nil {
				return l.locked(err, filepath.Join(l.dir, filepath.FromSlash(lockPath)))
			}
			l.inside = f
			unlockFile(l.beside, true)
			l.beside = nil
		} else {
			return nil
		}
	}
	// A writer that died between moving a new tree in and dropping the
	// lock beside it left that file; a live one only holds it while the
	// tree does not exist (see try), so it can go.
	os.Remove(besideLockPath(l.dir))
	b, err := openBeneath(l.dir)
	if err != nil {
		return err
	}
	defer b.close()
	l.Recovered, err = recoverJournal(b)
	return err
}

// adopt makes the lock file f, already locked inside a tree just renamed
// into place at l.dir, this lock's, and drops the one beside it.
func (l *Lock) adopt(f *os.File) {
	l.inside = f
	if l.beside != nil {
		unlockFile(l.beside, true)
		l.beside = nil
	}
}

// Unlock releases the lock; its file is emptied first, so the next holder
// does not take it for a stale one.
func (l *Lock) Unlock() {
	if l.inside != nil {
		unlockFile(l.inside, false)
		l.inside = nil
	}
	if l.beside != nil {
		unlockFile(l.beside, true)
		l.beside = nil
	}
}

// Dir is the locked tree's absolute path.
func (l *Lock) Dir() string { return l.dir }

// lockFile opens (creating) and locks name, and writes h into it. It
// fails with errWouldBlock while another process holds it. stale is the
// holder the file still named.
func lockFile(name string, h Holder) (f *os.File, stale *Holder, err error) {
	for {
		if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("%s is a %s, not a lock file", name, kindOf(fi.Mode()))
		}
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|oNoFollow, 0o644)
		if err != nil {
			return nil, nil, err
		}
		if err := flock(f); err != nil {
			f.Close()
			return nil, nil, err
		}
		// The file may have been removed (a beside lock dropped) between
		// open and flock: then this lock is on nothing; take it again.
		fi, err1 := f.Stat()
		now, err2 := os.Lstat(name)
		if err1 == nil && err2 == nil && os.SameFile(fi, now) {
			break
		}
		f.Close()
		if err1 != nil {
			return nil, nil, err1
		}
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, nil, err2
		}
	}
	stale = parseHolder(f)
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, nil, err
	}
	if _, err := f.WriteAt(append(data, '\n'), 0); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, stale, nil
}

// unlockFile empties (or, remove, deletes) a held lock file and releases
// it. Deleting before releasing is safe: a waiter then finds its lock on
// a removed file and takes the lock again (see lockFile).
func unlockFile(f *os.File, remove bool) {
	if remove {
		os.Remove(f.Name())
	} else {
		f.Truncate(0)
	}
	f.Close() // releases the flock
}

func parseHolder(f *os.File) *Holder {
	buf := make([]byte, 4096)
	n, _ := f.ReadAt(buf, 0)
	var h Holder
	if n == 0 || json.Unmarshal(buf[:n], &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

// readHolder reads who holds the lock file name, nil if it cannot tell.
func readHolder(name string) *Holder {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseHolder(f)
}
