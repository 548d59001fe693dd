/* Small filesystem helpers shared by every module that makes files durable. */
#ifndef SAMSA_BASE_FSUTIL_H
#define SAMSA_BASE_FSUTIL_H

/* fsync()s the directory at path, so entries created, renamed or removed in
 * it survive a power loss. 0 or -errno. */
int fs_fsync_dir(const char *path);

#endif
