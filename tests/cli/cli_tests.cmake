# End-to-end checks of the kspam program: exit codes (0 ok, 2 bad input, 1 other) and the one-line
# error format "error: FILE:LINE: ...".
set(KSPAM_BAD ${CMAKE_CURRENT_SOURCE_DIR}/data/bad)
function(kspam_cli_test name expected_code stderr_regex)
  add_test(NAME "cli: ${name}"
    COMMAND ${CMAKE_COMMAND} -DEXPECTED=${expected_code} -DPATTERN=${stderr_regex}
      -DWORKDIR=${CMAKE_CURRENT_BINARY_DIR}/cli-work -P ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.cmake
      -- $<TARGET_FILE:kspam> ${ARGN})
endfunction()

kspam_cli_test("help exits 0" 0 "Usage" --help)
kspam_cli_test("unknown option exits 2" 2 "error: " validate --data x.tsv --bogus)
kspam_cli_test("validate sample data" 0 "2000 valid rows" validate --data ${PROJECT_SOURCE_DIR}/data/sample/listings.tsv)
kspam_cli_test("validate names file and line" 2 "error: .*bad_label.tsv:3: column 'label'"
  validate --data ${KSPAM_BAD}/bad_label.tsv)
kspam_cli_test("validate --all-errors lists every problem" 2 "3 problems.*product_id.*label.*yes_count"
  validate --all-errors --data ${KSPAM_BAD}/many_errors.tsv)
kspam_cli_test("missing file exits 2" 2 "error: .*nowhere.tsv: cannot open file" validate --data nowhere.tsv)
kspam_cli_test("split writes train and val" 0 "train 1800 rows.*val 200 rows"
  split --data ${PROJECT_SOURCE_DIR}/data/sample/listings.tsv --out split-out --seed 42)
kspam_cli_test("split rejects a bad fraction" 2 "val-fraction" split --data ${PROJECT_SOURCE_DIR}/data/sample/listings.tsv
  --out split-bad --val-fraction 1.5)
kspam_cli_test("run rejects an unknown stage" 2 "no such stage" run --out run-bad --skip nonsense)

# The main job end to end on the bundled sample data (what the README's first command runs).
kspam_cli_test("run: whole workflow on the sample data" 0 "all stages done" run --out run-sample)
set_tests_properties("cli: run: whole workflow on the sample data" PROPERTIES TIMEOUT 900)

# The README's composing example builds and runs.
add_test(NAME "cli: README example composes the library" COMMAND example_compose)
set_tests_properties("cli: README example composes the library" PROPERTIES PASS_REGULAR_EXPRESSION "macro F1 0\\.[0-9]+")

# The model, tokenizer, SFT and evaluation commands as a user calls them.
set(KSPAM_FIXTURES ${PROJECT_SOURCE_DIR}/tests/reference/fixtures)
kspam_cli_test("forward writes logits" 0 "23 tokens \\(1 image\\), logits \\[23, 256\\]"
  forward --model ${KSPAM_FIXTURES}/model/m1 --input-ids 64,34,11,195,39,252,250,253,52
  --pixel-values ${KSPAM_FIXTURES}/model/case_m1_image.safetensors --out fw.safetensors)
kspam_cli_test("forward rejects a missing model" 2 "error: .*no-such-model" forward --model no-such-model --input-ids 1,2 --out x.safetensors)
kspam_cli_test("baseline rejects one-class training data" 2 "error: " baseline
  --train ${KSPAM_BAD}/unlabeled_row.tsv --eval ${KSPAM_BAD}/unlabeled_row.tsv --out baseline-bad)
kspam_cli_test("evaluate rejects a missing predictions file" 2 "error: .*nothing.csv" evaluate --predictions nothing.csv --out eval-bad)

# The Qwen3 tokenizer through the CLI (ids as Hugging Face tokenizers gives them; see tests/text for
# the full parity corpus), and a bad input line.
function(kspam_cli_stdin_test name expected_code stderr_regex input)
  add_test(NAME "cli: ${name}"
    COMMAND ${CMAKE_COMMAND} -DEXPECTED=${expected_code} -DPATTERN=${stderr_regex} -DINPUT=${input}
      -DWORKDIR=${CMAKE_CURRENT_BINARY_DIR}/cli-work -P ${CMAKE_CURRENT_SOURCE_DIR}/cli/expect.cmake
      -- $<TARGET_FILE:kspam> ${ARGN})
endfunction()
kspam_cli_stdin_test("tokenize writes ids" 0 "9707,1879,0,20192,369,31062,671,32654"
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/tokenize_input.jsonl tokenize)
kspam_cli_stdin_test("tokenize rejects a line that is not JSON" 2 "error: "
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/tokenize_bad.jsonl tokenize)
