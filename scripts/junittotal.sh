#!/usr/bin/env bash
# Sums the JUnit files DIR/SUITE.xml that `make test`'s suites write: each
# suite's counts and its failed and skipped tests by name, then one line,
# "N passed, M failed". Exits 1 when anything failed. A suite whose file is
# missing or cut short, or that exited non-zero (its status in DIR/SUITE.exit)
# with no failed test, counts one failure: no suite fails unseen.
#   scripts/junittotal.sh DIR SUITE...
exec awk -v RS='<' '
function attr(rec, key) { # the value of attribute key in the tag rec
  if (!match(rec, "[ \t\n]" key "=\"[^\"]*\"")) return ""
  return substr(rec, RSTART + length(key) + 3, RLENGTH - length(key) - 4)
}
BEGIN {
  for (a = 2; a < ARGC; a++) {
    suite = ARGV[a]; file = ARGV[1] "/" suite ".xml"; n = depth = whole = 0
    while ((getline tag < file) > 0) { # one tag a record: JUnit text has no raw "<"
      if (tag ~ /^testsuite[ \t\n>]/ && tag !~ /\/>[ \t\n]*$/) path[++depth] = attr(tag, "name") " > "
      else if (tag ~ /^\/testsuite>/) depth--
      else if (tag ~ /^testcase[ \t\n>\/]/) { state[++n] = "pass"; name[n] = (depth ? path[depth] : "") attr(tag, "name") }
      else if (tag ~ /^(failure|error)[ \t\n>\/]/) state[n] = "FAIL"
      else if (tag ~ /^skipped[ \t\n>\/]/ && state[n] == "pass") state[n] = "SKIP"
      else if (tag ~ /^\/testsuites>/) whole = 1
    }
    close(file); status = ""; getline status < (ARGV[1] "/" suite ".exit"); sub(/[ \t\n]+$/, "", status)
    c["pass"] = c["FAIL"] = c["SKIP"] = 0
    for (i = 1; i <= n; i++) c[state[i]]++
    if (!whole) { state[++n] = "FAIL"; name[n] = "(no complete JUnit file " file ": the suite stopped before writing it)"; c["FAIL"]++ }
    else if (status != "" && c["FAIL"] == 0) { state[++n] = "FAIL"; name[n] = "(exited with status " status " without a failed test: see its output)"; c["FAIL"]++ }
    printf "%s: %d passed, %d failed, %d skipped\n", suite, c["pass"], c["FAIL"], c["SKIP"]
    for (i = 1; i <= n; i++) if (state[i] != "pass") printf "  %s %s\n", state[i], name[i]
    passed += c["pass"]; failed += c["FAIL"]
  }
  printf "%d passed, %d failed\n", passed, failed
  exit failed > 0
}' "$@"
