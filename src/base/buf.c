/* Segmented output buffers with memory and file-range segments. Small appends
 * go into the tail memory segment; a new one is started when it is full. */
#include "base/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/xalloc.h"

#define BUF_SEG_MIN 4096
#define BUF_IOV_MAX 64

struct file_ref *file_ref_new(int fd)
{
	struct file_ref *file = xmalloc(sizeof(*file));
	file->fd = fd;
	atomic_init(&file->refs, 1);
	return file;
}

struct file_ref *file_ref_get(struct file_ref *file)
{
	atomic_fetch_add_explicit(&file->refs, 1, memory_order_relaxed);
	return file;
}

void file_ref_put(struct file_ref *file)
{
	if (!file)
		return;
	if (atomic_fetch_sub_explicit(&file->refs, 1, memory_order_acq_rel) == 1) {
		close(file->fd);
		free(file);
	}
}

void buf_chain_init(struct buf_chain *chain)
{
	chain->head = chain->tail = NULL;
	chain->len = 0;
}

static void buf_seg_free(struct buf_seg *seg)
{
	if (seg->kind == BUF_SEG_FILE)
		file_ref_put(seg->file.file);
	free(seg);
}

void buf_chain_fini(struct buf_chain *chain)
{
	struct buf_seg *seg = chain->head;
	while (seg) {
		struct buf_seg *next = seg->next;
		buf_seg_free(seg);
		seg = next;
	}
	buf_chain_init(chain);
}

static void buf_chain_link(struct buf_chain *chain, struct buf_seg *seg)
{
	seg->next = NULL;
	if (chain->tail)
		chain->tail->next = seg;
	else
		chain->head = seg;
	chain->tail = seg;
}

uint8_t *buf_chain_reserve(struct buf_chain *chain, size_t n)
{
	struct buf_seg *seg = chain->tail;
	if (!seg || seg->kind != BUF_SEG_MEM || seg->mem.cap - seg->len < n) {
		size_t cap = n > BUF_SEG_MIN ? n : BUF_SEG_MIN;
		seg = xmalloc(sizeof(*seg) + cap);
		seg->kind = BUF_SEG_MEM;
		seg->len = seg->sent = 0;
		seg->mem.cap = cap;
		seg->mem.data = (uint8_t *)(seg + 1);
		buf_chain_link(chain, seg);
	}
	uint8_t *p = seg->mem.data + seg->len;
	seg->len += n;
	chain->len += n;
	return p;
}

void buf_chain_append(struct buf_chain *chain, const void *data, size_t n)
{
	if (n)
		memcpy(buf_chain_reserve(chain, n), data, n);
}

void buf_chain_append_file(struct buf_chain *chain, struct file_ref *file, off_t off, size_t n)
{
	if (!n)
		return;
	struct buf_seg *seg = xmalloc(sizeof(*seg));
	seg->kind = BUF_SEG_FILE;
	seg->len = n;
	seg->sent = 0;
	seg->file.file = file_ref_get(file);
	seg->file.off = off;
	buf_chain_link(chain, seg);
	chain->len += n;
}

void buf_chain_move(struct buf_chain *dst, struct buf_chain *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	dst->len += src->len;
	buf_chain_init(src);
}

/* Drops fully sent segments from the front and accounts n written bytes. */
static void buf_chain_consume(struct buf_chain *chain, size_t n)
{
	chain->len -= n;
	while (n && chain->head) {
		struct buf_seg *seg = chain->head;
		size_t left = seg->len - seg->sent;
		size_t take = n < left ? n : left;
		seg->sent += take;
		n -= take;
		if (seg->sent == seg->len) {
			chain->head = seg->next;
			if (!chain->head)
				chain->tail = NULL;
			buf_seg_free(seg);
		}
	}
}

ssize_t buf_chain_write_fd(struct buf_chain *chain, int fd)
{
	size_t total = 0;
	while (chain->head) {
		struct buf_seg *seg = chain->head;
		ssize_t n;
		if (seg->kind == BUF_SEG_FILE) {
			off_t off = seg->file.off + (off_t)seg->sent;
			n = sendfile(fd, seg->file.file->fd, &off, seg->len - seg->sent);
			if (n == 0)
				return total ? (ssize_t)total : -EIO; /* file shorter than promised */
		} else {
			struct iovec iov[BUF_IOV_MAX];
			int cnt = 0;
			struct buf_seg *s = seg;
			for (; s && s->kind == BUF_SEG_MEM && cnt < BUF_IOV_MAX; s = s->next) {
				iov[cnt].iov_base = s->mem.data + s->sent;
				iov[cnt].iov_len = s->len - s->sent;
				cnt++;
			}
			/* A response header followed by file ranges: MSG_MORE lets the
			 * kernel put the header in the same packet as the file bytes. */
			struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
			n = sendmsg(fd, &msg, s ? MSG_MORE | MSG_NOSIGNAL : MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK)
				n = writev(fd, iov, cnt);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (total)
				return (ssize_t)total;
			return -errno;
		}
		buf_chain_consume(chain, (size_t)n);
		total += (size_t)n;
	}
	return (ssize_t)total;
}

int buf_chain_flatten(const struct buf_chain *chain, uint8_t *dst)
{
	for (const struct buf_seg *seg = chain->head; seg; seg = seg->next) {
		size_t n = seg->len - seg->sent;
		if (seg->kind == BUF_SEG_MEM) {
			memcpy(dst, seg->mem.data + seg->sent, n);
		} else {
			size_t done = 0;
			while (done < n) {
				ssize_t r = pread(seg->file.file->fd, dst + done, n - done,
						  seg->file.off + (off_t)(seg->sent + done));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					return r < 0 ? -errno : -EIO;
				done += (size_t)r;
			}
		}
		dst += n;
	}
	return 0;
}
