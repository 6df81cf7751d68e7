/* bench/yaml_scan.c: reads a YAML file with libyaml's event parser and does
 * nothing with the events. Run beside the helpers on the same policy file, it
 * shows how much of a decision is libyaml's own scanning (the floor of any
 * design that parses YAML at every login) and how much is building and
 * checking the policy on top of it. Exit 0 if the file parsed, 1 if not. */
#include <stdio.h>
#include <yaml.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: yaml_scan FILE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  yaml_parser_t parser;
  yaml_event_t event;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  unsigned long events = 0;
  int ok = 1;
  for (;;) {
    if (!yaml_parser_parse(&parser, &event)) {
      ok = 0;
      break;
    }
    int done = event.type == YAML_STREAM_END_EVENT;
    yaml_event_delete(&event);
    events++;
    if (done) break;
  }
  yaml_parser_delete(&parser);
  fclose(f);
  printf("%lu events\n", events);
  return ok ? 0 : 1;
}
