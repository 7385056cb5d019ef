# Writes a C source with the words of a SPIR-V module as a uint32_t array.
#   cmake -DSPV=<file.spv> -DOUT=<file.c> -DNAME=<symbol suffix> -P embed_spirv.cmake
file(READ "${SPV}" hex HEX)
string(LENGTH "${hex}" chars)
math(EXPR words "${chars} / 8")
math(EXPR rest "${chars} % 8")
if(words EQUAL 0 OR NOT rest EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a SPIR-V module (${chars} hex digits)")
endif()
# SPIR-V words are little-endian: bytes b0 b1 b2 b3 -> 0xb3b2b1b0.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){8})" "\\1\n  " body "${body}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${NAME}.comp by embed_spirv.cmake: do not edit. */\n"
  "#include <stddef.h>\n#include <stdint.h>\n"
  "extern const uint32_t sla2_vk_spv_${NAME}[];\nextern const size_t sla2_vk_spv_${NAME}_words;\n"
  "const uint32_t sla2_vk_spv_${NAME}[] = {\n  ${body}\n};\n"
  "const size_t sla2_vk_spv_${NAME}_words = ${words};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
