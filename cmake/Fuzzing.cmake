# CERTGATE_FUZZ=ON (clang): libFuzzer + ASan + UBSan.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "CERTGATE_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
endif()
# certgate_fuzzer(name source): one libFuzzer binary linked to core.
function(certgate_fuzzer name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE certgate_core)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
endfunction()
