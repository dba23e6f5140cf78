# `cmake --install <build> --prefix P` installs what another CMake project needs to use mltk as a
# library (find_package(mltk), target mltk::mltk), plus the command-line tools and the Node.js and
# browser parts they run (without node_modules: `npm ci` in each installed tools folder fetches them).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS mltk EXPORT mltkTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/src/mltk DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS ${MLTK_APP_TARGETS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# locate_tools_folder (common/tools_folder.h) looks for them in ../share/mltk/tools beside the tools.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/tools/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mltk/tools
        PATTERN node_modules EXCLUDE)

set(MLTK_PACKAGE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mltk)
install(EXPORT mltkTargets NAMESPACE mltk:: DESTINATION ${MLTK_PACKAGE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/mltkConfig.cmake.in ${CMAKE_BINARY_DIR}/mltkConfig.cmake
                              INSTALL_DESTINATION ${MLTK_PACKAGE_DIR})
# The C++ API is not stable across minor versions yet.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mltkConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mltkConfig.cmake ${CMAKE_BINARY_DIR}/mltkConfigVersion.cmake
        DESTINATION ${MLTK_PACKAGE_DIR})
