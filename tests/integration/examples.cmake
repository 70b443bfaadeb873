# SPDX-License-Identifier: Apache-2.0
# examples/ and `cprof topo`: hash_bench against its Go twin and a Python
# reference, the examples profiled in code and by LD_PRELOAD, and the topo
# command on this machine and on fixture trees. Scripts in examples/.
set(CP_EX_DIR ${CMAKE_CURRENT_SOURCE_DIR}/examples)
set(CP_EX_WORK ${CMAKE_CURRENT_BINARY_DIR}/examples)

add_test(NAME integration/hash_bench_twin
  COMMAND sh ${CP_EX_DIR}/hash_bench.sh $<TARGET_FILE:hash_bench>
    ${CMAKE_SOURCE_DIR}/examples/go/hash_bench ${CP_EX_WORK}/twin)
add_test(NAME integration/examples_profile
  COMMAND sh ${CP_EX_DIR}/profile.sh ${CMAKE_BINARY_DIR}
    ${CP_EX_WORK}/profile)
add_test(NAME integration/topo_cli
  COMMAND sh ${CP_EX_DIR}/topo.sh $<TARGET_FILE:cprof_cli> ${CMAKE_SOURCE_DIR}
    ${CP_EX_WORK}/topo)
set_tests_properties(integration/hash_bench_twin integration/examples_profile
  integration/topo_cli PROPERTIES LABELS integration TIMEOUT 180
  SKIP_RETURN_CODE 77 ENVIRONMENT "${CP_TEST_ENV}")
