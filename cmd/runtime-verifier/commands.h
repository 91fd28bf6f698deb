/* commands.h - runtime-verifier's subcommands, one cmd_<name>.c each */
#ifndef RV_COMMANDS_H
#define RV_COMMANDS_H

/* Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit code (cli.h). */
int cmd_fingerprint(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_provenance(int argc, char **argv);
int cmd_sbom(int argc, char **argv);

#endif
