# CERTGATE_FUZZ=ON (clang): every target is built with ASan + UBSan and
# libFuzzer's coverage instrumentation; certgate_fuzzer() links the fuzzer
# driver into one harness. With CERTGATE_SANITIZE=ON too (as tests/run
# builds them), the same build also makes the ASan+UBSan unit tests: they
# run with the coverage instrumentation, which only counts.
if(CERTGATE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CERTGATE_FUZZ needs clang: -DCMAKE_CXX_COMPILER=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()

# certgate_fuzzer(name source): one libFuzzer binary linked to core.
function(certgate_fuzzer name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE certgate_core)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
