/* error.c - per-thread last-error message */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "banned.h"

#define RV_ERROR_MAX 1024

static _Thread_local char last_error[RV_ERROR_MAX];

static void set_va(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));

static void set_va(const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

/* Append sep and text at offset len, truncating to the buffer. */
static void append(const char *sep, const char *text, size_t len)
{
	size_t room = sizeof(last_error) - 1 - len;
	size_t n;

	for (; *sep && room; room--)
		last_error[len++] = *sep++;
	n = strlen(text);
	if (n > room)
		n = room;
	memmove(last_error + len, text, n);
	last_error[len + n] = '\0';
}

int rv_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(fmt, ap);
	va_end(ap);
	return code;
}

int rv_error_setsys(int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_va(fmt, ap);
	va_end(ap);
	append(": ", strerror(errnum), strlen(last_error));
	return code;
}

int rv_error_prefix(int code, const char *fmt, ...)
{
	char old[RV_ERROR_MAX];
	va_list ap;
	size_t len;

	memcpy(old, last_error, sizeof(old));
	va_start(ap, fmt);
	set_va(fmt, ap);
	va_end(ap);
	len = strlen(last_error);
	if (old[0] != '\0')
		append(": ", old, len);
	return code;
}

const char *rv_error_last(void)
{
	return last_error;
}

void rv_error_clear(void)
{
	last_error[0] = '\0';
}

#define E(x) { x, #x }
static const struct {
	int num;
	const char *name;
} errno_names[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
	E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
	E(EFAULT), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR),
	E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ETXTBSY), E(EFBIG),
	E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(ERANGE),
	E(ENAMETOOLONG), E(ENOSYS), E(ELOOP), E(EOVERFLOW), E(ESTALE),
	E(EOPNOTSUPP), E(ENOTSUP), E(ENODATA), E(ETIMEDOUT),
	E(ECONNREFUSED), E(ENOTCONN), E(EDEADLK), E(ENOLCK), E(ENOTEMPTY),
	E(ENOTBLK), E(ENOTTY), E(EWOULDBLOCK), E(ECANCELED),
};
#undef E

const char *rv_errno_name(int errnum)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].num == errnum)
			return errno_names[i].name;
	return NULL;
}

int rv_errno_from_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].num;
	return 0;
}
