# CERTGATE_SANITIZE=ON: ASan + UBSan for every target, aborting on the first
# UBSan report so that CI fails on it.
if(CERTGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -O1 -g)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
