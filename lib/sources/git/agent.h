/* agent.h - coding agents in commit identities and message trailers */
#ifndef RV_AGENT_H
#define RV_AGENT_H

#include <stddef.h>

/*
 * An agent rule is "AGENT=GLOB" or a bare "GLOB" (the agent is then named
 * by the glob). GLOB is a shell glob (fnmatch: * ? [set]) matched, ignoring
 * case, against the whole name or the whole e-mail address of an identity;
 * write *word* for a substring. The built-in rules name Claude, GitHub
 * Copilot, Cursor, Devin, OpenAI Codex, Gemini, Aider and Amazon Q
 * (docs/provenance.md lists them).
 */

#define RV_AGENT_MAX_RULES 1024      /* built-in plus given */
#define RV_AGENT_MAX_PATTERN 256     /* bytes in one rule */
#define RV_AGENT_MAX_MESSAGE (1 << 20) /* a longer message: only its tail is read */
#define RV_AGENT_MAX_TRAILERS 64     /* agent-relevant trailers kept per commit */
#define RV_AGENT_MAX_TEXT 512        /* bytes kept of a name, e-mail or key */

typedef struct rv_agent_rule {
	char *agent; /* display name, owned */
	char *glob;  /* owned */
} rv_agent_rule;

typedef struct rv_agent_rules {
	rv_agent_rule *v;
	size_t n;
} rv_agent_rules;

/* Build the rule list: the built-in rules (unless no_defaults) followed by
 * the n given ones, which are copied. RV_EINVAL naming a rule that is
 * empty, too long, or has an empty agent or glob; RV_ETOOBIG past
 * RV_AGENT_MAX_RULES. On failure the list is left empty. */
int rv_agent_rules_init(rv_agent_rules *rules, const char *const *patterns,
	size_t n, int no_defaults);

/* Free the rules' contents; NULL-safe and idempotent. */
void rv_agent_rules_dispose(rv_agent_rules *rules);

/* The agent that name or email (either may be NULL or "") matches, first
 * rule first, or NULL for none. The pointer belongs to rules. */
const char *rv_agent_match(const rv_agent_rules *rules, const char *name,
	const char *email);

/* One agent-relevant trailer: Co-authored-by, Assisted-by or Signed-off-by,
 * in any case and spacing. All strings are owned and cleaned
 * (rv_agent_clean). */
typedef struct rv_agent_trailer {
	char *key;        /* as written: "Co-Authored-By" */
	const char *kind; /* static: "co-authored-by", "assisted-by", "signed-off-by" */
	char *name;       /* the value before '<', trimmed; the whole value without one */
	char *email;      /* between '<' and '>', or "" */
	char *agent;      /* the matching rule's agent, or NULL */
} rv_agent_trailer;

typedef struct rv_agent_trailers {
	rv_agent_trailer *v;
	size_t n;
	int truncated;         /* more than RV_AGENT_MAX_TRAILERS were present */
	int message_truncated; /* the message passed RV_AGENT_MAX_MESSAGE */
} rv_agent_trailers;

/*
 * Read the trailers of a commit message (len bytes, any bytes; reading
 * stops at a NUL) with libgit2's git_message_trailers and keep the
 * agent-relevant ones, classified by rules (which may be NULL: no agent).
 * A message longer than RV_AGENT_MAX_MESSAGE is read from its last
 * RV_AGENT_MAX_MESSAGE bytes (trailers are at the end). out is caller
 * owned; free its contents with rv_agent_trailers_dispose, on failure too.
 * RV_ENOMEM, or RV_ERROR with libgit2's message.
 */
int rv_agent_trailers_parse(rv_agent_trailers *out, const char *msg, size_t len,
	const rv_agent_rules *rules);

void rv_agent_trailers_dispose(rv_agent_trailers *t);

/*
 * Copy len bytes of text from outside (a name, a path, a message line) for
 * display: at most max bytes, invalid UTF-8 and control bytes replaced by
 * U+FFFD, cut at a character boundary. Always valid UTF-8, safe for JSON
 * and terminals. Allocated (free() it) or NULL when out of memory.
 */
char *rv_agent_clean(const char *s, size_t len, size_t max);

#endif
