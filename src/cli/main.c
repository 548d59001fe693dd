/* The samsa command: dispatches argv[1] to a subcommand (cli/commands.h).
 * Each subcommand gets argv starting at its own name and returns the exit
 * code. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

#ifndef SAMSA_VERSION
#define SAMSA_VERSION "0.1.0"
#endif

/* Read by serve.c for its start-up line. */
const char samsa_version[] = SAMSA_VERSION;

struct cli_command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
};

static const struct cli_command commands[] = {
	{"serve", cli_serve_main, "run a broker: samsa serve [server.properties] [--set key=value ...]"},
	{"topic", cli_topic_main, "create, list, describe and delete topics on a running broker"},
	{"group", cli_group_main, "list, describe, delete consumer groups and reset their offsets"},
};

static void usage(FILE *out)
{
	fprintf(out, "samsa %s: a message broker that speaks the Apache Kafka protocol\n\n"
		     "Usage: samsa <command> [arguments]\n\nCommands:\n",
		samsa_version);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions:\n"
		     "  -h, --help     this help (samsa <command> --help for a command's own)\n"
		     "  -V, --version  print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("samsa %s\n", samsa_version);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "samsa: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
