# SPDX-License-Identifier: Apache-2.0
# The hash_bench study (issue 9): examples/hash_bench_fast gives
# hash_bench's checksum for every implementation, bench/hash_study.sh picks
# its configurations from `cprof topo` (SMT pair on a fixture Xeon), and
# --quick runs end to end (well under a minute). Scripts in study/.
set(CP_STUDY_DIR ${CMAKE_CURRENT_SOURCE_DIR}/study)
set(CP_STUDY_WORK ${CMAKE_CURRENT_BINARY_DIR}/study)

add_test(NAME integration/study_checksums
  COMMAND sh ${CP_STUDY_DIR}/checksums.sh ${CMAKE_BINARY_DIR}
    ${CP_STUDY_WORK}/checksums)
add_test(NAME integration/study_plan
  COMMAND sh ${CP_STUDY_DIR}/plan.sh ${CMAKE_BINARY_DIR})
add_test(NAME integration/study_quick
  COMMAND sh ${CP_STUDY_DIR}/quick.sh ${CMAKE_BINARY_DIR}
    ${CP_STUDY_WORK}/quick)
set_tests_properties(integration/study_checksums integration/study_plan
  integration/study_quick
  PROPERTIES LABELS "integration;study" TIMEOUT 240 SKIP_RETURN_CODE 77
  ENVIRONMENT "${CP_TEST_ENV}")
