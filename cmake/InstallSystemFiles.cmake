# The install-time half of cmake/Install.cmake. Its install rules include
# certgate_install_settings.cmake, which Install.cmake writes into the build
# directory: it sets the CERTGATE_* values of the configuration and includes
# this file. They then call one of the two functions at the end.
#
# It runs in `cmake --install` (or `ninja install`), where
# CMAKE_INSTALL_PREFIX is this install's prefix, without a trailing slash
# ("" for /): the configured one, or the one given to
# `cmake --install --prefix`, which CMake also applies to every relative
# DESTINATION and so to the programs. Files are installed with
# file(INSTALL), which honours DESTDIR and adds them to
# CMAKE_INSTALL_MANIFEST_FILES, the list cmake_install.cmake writes to
# install_manifest.txt: a function here hands its copy back to its caller.

# cmake_install.cmake sets no policies; the functions below run with the
# project's (CMake keeps a function's policies from where it is defined).
cmake_policy(VERSION 3.25)

# certgate_installed_path(out dir): where an install rule with DESTINATION
# |dir| puts files in this install: |dir| if absolute, else under the prefix
# (a relative prefix is taken from the working directory, as file(INSTALL)
# takes it).
function(certgate_installed_path out dir)
  if(NOT IS_ABSOLUTE "${dir}")
    set(dir "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
  string(REGEX REPLACE "//+" "/" dir "${dir}")
  get_filename_component(dir "${dir}" ABSOLUTE)
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# certgate_system_dir(out given pc_dir fallback): the directory the packager
# gave (|given|, a CERTGATE_*DIR cache value) if any; else systemd.pc's
# |pc_dir| when installing to /usr, where systemd looks
# (/lib/systemd/system on Debian 12); else |fallback| under the prefix.
function(certgate_system_dir out given pc_dir fallback)
  if(NOT "${given}" STREQUAL "")
    set(dir "${given}")
  elseif("${CMAKE_INSTALL_PREFIX}" STREQUAL "/usr" AND NOT "${pc_dir}" STREQUAL "")
    set(dir "${pc_dir}")
  else()
    set(dir "${fallback}")
  endif()
  certgate_installed_path(dir "${dir}")
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# certgate_sysconf_dir(out): the directory that is /etc for the prefix /usr.
# For the configured prefix, CMAKE_INSTALL_FULL_SYSCONFDIR as GNUInstallDirs
# made it (/etc for / and /usr, /usr/local/etc for /usr/local, /etc/opt/P for
# /opt/P). A prefix given only at install time moves a relative
# CMAKE_INSTALL_SYSCONFDIR as it moves every relative DESTINATION, to
# PREFIX/etc, but for / and /usr, where it is /etc as in GNUInstallDirs; an
# absolute one (the packages pass /etc) stays.
function(certgate_sysconf_dir out)
  string(REGEX REPLACE "/$" "" configured "${CERTGATE_CONFIGURED_PREFIX}")
  if("${CMAKE_INSTALL_PREFIX}" STREQUAL "${configured}")
    set(dir "${CERTGATE_CONFIGURED_SYSCONFDIR}")
  elseif("${CMAKE_INSTALL_PREFIX}" STREQUAL "" OR "${CMAKE_INSTALL_PREFIX}" STREQUAL "/usr")
    certgate_installed_path(dir "/${CERTGATE_SYSCONFDIR}")
  else()
    certgate_installed_path(dir "${CERTGATE_SYSCONFDIR}")
  endif()
  set(${out} "${dir}" PARENT_SCOPE)
endfunction()

# certgate_install_system_files() installs the systemd units and the
# sysusers.d and tmpfiles.d entries. The units name /usr/sbin/cafetch and
# /usr/libexec/certgate/..., the packages' paths; an install that puts the
# programs elsewhere gets units that name where it put them. /etc/certgate
# and /var/cache/certgate stay as they are: the programs' default paths do
# not follow the prefix either.
function(certgate_install_system_files)
  string(REGEX REPLACE "/$" "" configured "${CERTGATE_CONFIGURED_PREFIX}")
  if(NOT "${CMAKE_INSTALL_PREFIX}" STREQUAL "/usr" AND
     NOT "${CMAKE_INSTALL_PREFIX}" STREQUAL "${configured}")
    # The configure-time warning of the top-level CMakeLists.txt, for a
    # prefix it did not see.
    message(WARNING "Installing to the prefix '${CMAKE_INSTALL_PREFIX}': certgate's programs read /etc/certgate "
                    "and cafetch names /usr/libexec/certgate/principals-cmd whatever the prefix, so an install "
                    "there is not found; use the prefix /usr (and DESTDIR to stage it)")
  endif()
  certgate_system_dir(unitdir "${CERTGATE_SYSTEMD_UNITDIR}" "${CERTGATE_PC_UNITDIR}" lib/systemd/system)
  certgate_system_dir(sysusersdir "${CERTGATE_SYSUSERSDIR}" "${CERTGATE_PC_SYSUSERSDIR}" lib/sysusers.d)
  certgate_system_dir(tmpfilesdir "${CERTGATE_TMPFILESDIR}" "${CERTGATE_PC_TMPFILESDIR}" lib/tmpfiles.d)
  certgate_installed_path(sbindir "${CERTGATE_SBINDIR}")
  certgate_installed_path(libexecdir "${CERTGATE_LIBEXECDIR}")

  set(units "")
  foreach(unit IN LISTS CERTGATE_UNITS)
    list(APPEND units "${CERTGATE_PACKAGING_DIR}/systemd/${unit}")
  endforeach()
  file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES ${units})
  # Rewritten where installed: the build tree may not be writable now.
  if(NOT sbindir STREQUAL "/usr/sbin" OR NOT libexecdir STREQUAL "/usr/libexec")
    foreach(unit IN LISTS CERTGATE_UNITS)
      set(file "$ENV{DESTDIR}${unitdir}/${unit}")
      file(READ "${file}" original)
      string(REPLACE "/usr/sbin/" "${sbindir}/" text "${original}")
      string(REPLACE "/usr/libexec/" "${libexecdir}/" text "${text}")
      if(NOT text STREQUAL original)
        file(WRITE "${file}" "${text}")
      endif()
    endforeach()
  endif()

  file(INSTALL DESTINATION "${sysusersdir}" TYPE FILE RENAME certgate.conf
       FILES "${CERTGATE_PACKAGING_DIR}/systemd/certgate-sysusers.conf")
  file(INSTALL DESTINATION "${tmpfilesdir}" TYPE FILE RENAME certgate.conf
       FILES "${CERTGATE_PACKAGING_DIR}/systemd/certgate-tmpfiles.conf")
  set(CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_MANIFEST_FILES}" PARENT_SCOPE)
endfunction()

# certgate_install_example_config(source) installs the example config
# |source| into certgate_sysconf_dir()/certgate, or beside an existing file
# of its name as NAME.example (Install.cmake's certgate_install_config).
function(certgate_install_example_config source)
  get_filename_component(name "${source}" NAME)
  certgate_sysconf_dir(sysconfdir)
  set(dir "${sysconfdir}/certgate")
  if(EXISTS "$ENV{DESTDIR}${dir}/${name}")
    message(STATUS "Kept: $ENV{DESTDIR}${dir}/${name} (the example is ${name}.example)")
    file(INSTALL DESTINATION "${dir}" TYPE FILE RENAME "${name}.example" FILES "${source}")
  else()
    file(INSTALL DESTINATION "${dir}" TYPE FILE FILES "${source}")
  endif()
  set(CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_MANIFEST_FILES}" PARENT_SCOPE)
endfunction()
