# SPDX-License-Identifier: Apache-2.0
# Symbolizer fixtures (tests/unit/symbolize_fixtures/): small programs
# built the ways real programs are built (PIE, non-PIE, -O2 without frame
# pointers, shared library, C++, stripped with a separate debug file,
# clang), which tests/unit/test_symbolize.c runs and symbolizes. They land
# in ${CMAKE_BINARY_DIR}/tests/symbol, where the test finds them through
# CPROF_BUILD.
#
# Each fixture sets its own COMPILE_OPTIONS and LINK_OPTIONS (replacing
# the tree's -fno-omit-frame-pointer and sanitizer flags): the point is to
# control exactly how they are built.
set(CP_SYMFIX_SRC ${CMAKE_SOURCE_DIR}/tests/unit/symbolize_fixtures)
set(CP_SYMFIX_OUT ${CMAKE_BINARY_DIR}/tests/symbol)
file(MAKE_DIRECTORY ${CP_SYMFIX_OUT})

function(cp_symfix name)
  cmake_parse_arguments(F "" "" "SOURCES;COPTS;LOPTS" ${ARGN})
  add_executable(${name} ${F_SOURCES})
  set_property(TARGET ${name} PROPERTY COMPILE_OPTIONS ${F_COPTS})
  set_property(TARGET ${name} PROPERTY LINK_OPTIONS ${F_LOPTS})
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CP_SYMFIX_OUT})
endfunction()

# The build type's flags (e.g. -O2 -g) come first on the command line;
# the fixtures' own options follow and win.
cp_symfix(symfix_pie
  SOURCES ${CP_SYMFIX_SRC}/sym_basic.c ${CP_SYMFIX_SRC}/fixture.c
  COPTS -O0 -g -fPIE LOPTS -pie)
cp_symfix(symfix_nopie
  SOURCES ${CP_SYMFIX_SRC}/sym_basic.c ${CP_SYMFIX_SRC}/fixture.c
  COPTS -O0 -g -fno-pie LOPTS -no-pie)
set_target_properties(symfix_nopie PROPERTIES POSITION_INDEPENDENT_CODE OFF)
cp_symfix(symfix_inline
  SOURCES ${CP_SYMFIX_SRC}/sym_inline.c ${CP_SYMFIX_SRC}/fixture.c
  COPTS -O2 -g -fomit-frame-pointer -fPIE LOPTS -pie)
cp_symfix(symfix_cxx
  SOURCES ${CP_SYMFIX_SRC}/sym_cxx.cc ${CP_SYMFIX_SRC}/fixture.c
  COPTS -O0 -g -fPIE LOPTS -pie)
cp_symfix(symfix_cxx_inline
  SOURCES ${CP_SYMFIX_SRC}/sym_cxx_inline.cc ${CP_SYMFIX_SRC}/fixture.c
  COPTS -O2 -g -fPIE LOPTS -pie)

add_library(symfix_lib SHARED ${CP_SYMFIX_SRC}/sym_lib.c)
set_property(TARGET symfix_lib PROPERTY COMPILE_OPTIONS -O0 -g -fPIC)
set_property(TARGET symfix_lib PROPERTY LINK_OPTIONS "")
set_target_properties(symfix_lib PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY ${CP_SYMFIX_OUT} OUTPUT_NAME symfix)

# symfix_pie without DWARF (names from .symtab only), and with its DWARF
# moved to symfix_pie.debug behind a .gnu_debuglink.
add_custom_command(TARGET symfix_pie POST_BUILD
  COMMAND ${CMAKE_OBJCOPY} --strip-debug $<TARGET_FILE:symfix_pie>
          ${CP_SYMFIX_OUT}/symfix_pie_nodebug
  COMMAND ${CMAKE_OBJCOPY} --only-keep-debug $<TARGET_FILE:symfix_pie>
          ${CP_SYMFIX_OUT}/symfix_pie.debug
  COMMAND ${CMAKE_OBJCOPY} --strip-debug
          --add-gnu-debuglink=${CP_SYMFIX_OUT}/symfix_pie.debug
          $<TARGET_FILE:symfix_pie> ${CP_SYMFIX_OUT}/symfix_pie_linked
  WORKING_DIRECTORY ${CP_SYMFIX_OUT}
  VERBATIM)

# The inline fixture again with clang, whose DWARF differs (no
# .debug_aranges, DW_FORM_addrx, rnglists); the test skips it without clang.
find_program(CP_CLANG clang)
set(CP_SYMFIX_DEPS symfix_pie symfix_nopie symfix_inline symfix_cxx
  symfix_cxx_inline symfix_lib)
if(CP_CLANG)
  add_custom_command(
    OUTPUT ${CP_SYMFIX_OUT}/symfix_inline_clang
    COMMAND ${CP_CLANG} -O2 -g -fomit-frame-pointer -fPIE -pie
            -o ${CP_SYMFIX_OUT}/symfix_inline_clang
            ${CP_SYMFIX_SRC}/sym_inline.c ${CP_SYMFIX_SRC}/fixture.c
    DEPENDS ${CP_SYMFIX_SRC}/sym_inline.c ${CP_SYMFIX_SRC}/fixture.c
            ${CP_SYMFIX_SRC}/fixture.h
    COMMENT "clang symbolizer fixture"
    VERBATIM)
  add_custom_target(symfix_clang ALL
    DEPENDS ${CP_SYMFIX_OUT}/symfix_inline_clang)
  list(APPEND CP_SYMFIX_DEPS symfix_clang)
endif()

if(TARGET test_symbolize)
  add_dependencies(test_symbolize ${CP_SYMFIX_DEPS})
endif()
