package deploy

// BookkeepingPaths are the tree paths (slash-separated, relative to the
// deploy tree) that belong to Write itself rather than to what fleetc
// renders: the index of written files (and its temporary file), the lock
// of a write (TakeLock) and the journal of an apply. They are never
// committed: fleetc publish leaves them out, and IgnoreContent keeps them
// out of a checkout's commits. A directory in the list stands for
// everything beneath it.
func BookkeepingPaths() []string {
	return []string{indexPath, indexPath + ".tmp", lockPath, journalPath}
}

// IsBookkeeping reports whether the slash path p, relative to the deploy
// tree, is Write's own bookkeeping (see BookkeepingPaths).
func IsBookkeeping(p string) bool { return bookkeeping(p) }
