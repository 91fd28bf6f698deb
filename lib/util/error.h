/* error.h - per-thread last-error message and the project's return codes */
#ifndef RV_ERROR_H
#define RV_ERROR_H

/*
 * Every lib/ function that can fail returns an int: RV_OK (0) on success or
 * one of the negative codes below, and leaves a message saying what failed
 * in a per-thread buffer. Callers add context with rv_error_prefix() and
 * pass the code up unchanged; cmd/ prints rv_error_last().
 */
enum {
	RV_OK = 0,
	RV_ERROR = -1,      /* generic failure */
	RV_ENOMEM = -2,     /* allocation failed */
	RV_EINVAL = -3,     /* bad argument or input the caller controls */
	RV_ENOTFOUND = -4,  /* the named thing does not exist */
	RV_EIO = -5,        /* an operating-system call failed */
	RV_ETOOBIG = -6,    /* a size cap was hit */
	RV_EFORMAT = -7,    /* malformed data from outside */
	RV_EVERIFY = -8,    /* bytes did not match their digest or checksum */
	RV_EAUTH = -9,      /* authentication or authorization refused */
	RV_EUNSUPPORTED = -10, /* a valid request we do not implement */
	RV_ENET = -11,      /* network failure */
	RV_ETIMEOUT = -12,  /* a deadline passed */
	RV_ECONFLICT = -13, /* the object changed under us (HTTP 409) */
	RV_EGONE = -14      /* the resource version or token expired (HTTP 410) */
};

/* Set the last error from a printf format; returns code, so callers can
 * write `return rv_error_set(RV_EINVAL, "bad '%s'", x);`. */
int rv_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like rv_error_set, with ": strerror(errnum)" appended. */
int rv_error_setsys(int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context to the current message: "<ctx>: <old message>". Returns
 * code unchanged. */
int rv_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The current thread's last message; never NULL ("" when none). The
 * pointer is valid until the next rv_error_* call on this thread. */
const char *rv_error_last(void);

/* Forget the current thread's message. */
void rv_error_clear(void);

/* A short name for an errno value ("EACCES"), or NULL if unknown. */
const char *rv_errno_name(int errnum);

/* The errno value for a name from rv_errno_name(), or 0 if unknown. */
int rv_errno_from_name(const char *name);

#endif
