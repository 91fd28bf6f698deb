/* main.c - runtime-verifier: dispatch to a subcommand */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "util/banned.h"

#ifndef RV_VERSION
#define RV_VERSION "0.1.0-dev"
#endif

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "verify", cmd_verify, "verify the pods of a cluster against their images" },
	{ "fingerprint", cmd_fingerprint, "fingerprint a directory tree" },
	{ "diff", cmd_diff, "compare two manifests" },
	{ "decode", cmd_decode, "turn a probe log into a manifest" },
	{ "image", cmd_image, "fingerprint a registry image by digest or tag" },
	{ "provenance", cmd_provenance, "which agents touched the build at a revision" },
	{ "sbom", cmd_sbom, "catalogue installed packages (CycloneDX)" },
};

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: runtime-verifier <command> [options]\n\ncommands:\n", f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'runtime-verifier <command> --help' describes a command.\n", f);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return RV_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return RV_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("runtime-verifier %s\n", RV_VERSION);
		return RV_EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "runtime-verifier: unknown command '%s'\n"
		"Try 'runtime-verifier --help'.\n", argv[1]);
	return RV_EXIT_USAGE;
}
