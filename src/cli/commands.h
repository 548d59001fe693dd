/* The samsa subcommands; main.c dispatches argv[1] to one of these. Each gets
 * argv starting at the subcommand name and returns the process exit code. */
#ifndef SAMSA_CLI_COMMANDS_H
#define SAMSA_CLI_COMMANDS_H

int cli_serve_main(int argc, char **argv);
int cli_topic_main(int argc, char **argv);
int cli_group_main(int argc, char **argv);

#endif
